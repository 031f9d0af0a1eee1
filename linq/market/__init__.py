"""The orchestrator's brain: registry index, explainable matching, exact pricing and EIP-712 offers.

Modules:
    units       parsing of CPU / memory / storage / duration / LNQ amounts typed by users
    encoding    bytes32 <-> text for regions and GPU models, address normalisation
    pricing     rate per hour, deposits and runway, exact in wei
    reputation  the reputation score in [0, 1] from on-chain escrow outcome counters
    models      pydantic models: ProviderRecord, Requirements, MatchResult
    match       the pure matching function (filters with every reason, weighted ranking)
    offers      EIP-712 offers: typed data, signing, verification, the offer JSON file
    index       the registry index built from the chain, cached to JSON, updated from events
"""

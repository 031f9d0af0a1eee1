"""The protocol's model in Python: money math (money.py) and, with it, the one home of each protocol fact."""

// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title LNQ, the Linq token
/// @notice Plain ERC-20 with EIP-2612 permit and a fixed supply minted once: no owner, no minting later,
/// no hooks, fees, pausing or blacklist (so the escrow's push payments cannot be blocked).
contract LNQ is ERC20, ERC20Permit {
    /// @notice The supply must fit in 96 bits so escrow amounts do.
    error SupplyTooLarge(uint256 supply, uint256 max);

    /// @param holder receives the whole supply
    /// @param supply total supply in wei (< 2^96)
    constructor(address holder, uint256 supply) ERC20("Linq", "LNQ") ERC20Permit("Linq") {
        if (supply >= 2 ** 96) revert SupplyTooLarge(supply, 2 ** 96 - 1);
        _mint(holder, supply);
    }
}

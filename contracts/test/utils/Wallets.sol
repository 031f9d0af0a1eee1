// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IProviderRegistry} from "../../src/interfaces/IProviderRegistry.sol";
import {IEscrow} from "../../src/interfaces/IEscrow.sol";

/// @notice A smart-contract provider wallet (ERC-1271) controlled by one EOA key.
contract ProviderWallet is IERC1271 {
    address public immutable owner;

    constructor(address owner_) {
        owner = owner_;
    }

    function isValidSignature(bytes32 digest, bytes calldata signature) external view returns (bytes4) {
        (address signer,,) = ECDSA.tryRecover(digest, signature);
        return signer == owner ? IERC1271.isValidSignature.selector : bytes4(0xffffffff);
    }

    function exec(address target, bytes calldata data) external {
        require(msg.sender == owner, "owner");
        (bool ok, bytes memory ret) = target.call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret))
            }
        }
    }
}

/// @notice A token that calls back into the escrow from transferFrom: proves the reentrancy lock holds.
contract ReentrantToken {
    IEscrow public target;
    bytes public payload;

    function arm(IEscrow target_, bytes calldata payload_) external {
        target = target_;
        payload = payload_;
    }

    function transferFrom(address, address, uint256) external returns (bool) {
        (bool ok, bytes memory ret) = address(target).call(payload);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret))
            }
        }
        return true;
    }

    function transfer(address, uint256) external pure returns (bool) {
        return true;
    }

    // silence unused import
    function _unused(IProviderRegistry) internal pure {}
}

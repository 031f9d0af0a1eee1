// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {Fixture} from "../utils/Fixture.sol";
import {IEscrow} from "../../src/interfaces/IEscrow.sol";

/// @notice Shared helpers of the Escrow tests; one test contract per escrow function (test/escrow/<Function>.t.sol).
abstract contract EscrowBase is Fixture {
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");
    uint256 internal constant R3_KEY = 0xC3;

    function _offer(address provider, address requestor, uint256 nonce) internal view returns (IEscrow.Offer memory) {
        return IEscrow.Offer({
            provider: provider,
            requestor: requestor,
            resources: _res(),
            ratePerHour: 3e16,
            minDuration: 600,
            maxDuration: 30 days,
            nonce: nonce,
            deadline: uint64(_now() + 1 hours)
        });
    }

    function _sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function _permit(uint256 key, uint256 value) internal view returns (IEscrow.PermitSig memory p) {
        address owner = vm.addr(key);
        uint256 deadline = _now() + 1 hours;
        bytes32 structHash =
            keccak256(abi.encode(PERMIT_TYPEHASH, owner, address(esc), value, lnq.nonces(owner), deadline));
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", lnq.DOMAIN_SEPARATOR(), structHash));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        p = IEscrow.PermitSig(value, deadline, v, r, s);
    }

    function _status(IEscrow.Terms memory t) internal view returns (uint256) {
        return uint256(esc.statusOf(t));
    }
}

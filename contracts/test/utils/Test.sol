// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @notice The Foundry cheatcodes these tests use (the subset of forge-std's Vm we need; no forge-std dependency,
/// so the suite runs offline from npm packages alone).
interface Vm {
    function warp(uint256 newTimestamp) external;
    function prank(address sender) external;
    function startPrank(address sender) external;
    function stopPrank() external;
    function expectRevert(bytes calldata revertData) external;
    function expectRevert(bytes4 revertData) external;
    function expectRevert() external;
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData) external;
    function expectEmit() external;
    function addr(uint256 privateKey) external pure returns (address);
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);
    function assume(bool condition) external pure;
    function chainId(uint256 newChainId) external;
    function label(address account, string calldata newLabel) external;
    function toString(uint256 value) external pure returns (string memory);
    function getBlockTimestamp() external view returns (uint256);
    function getChainId() external view returns (uint256);
}

/// @notice Minimal test base: assertions that revert with a message, `bound`, and the invariant-target hooks forge
/// reads (targetContracts, targetSelectors, targetSenders).
abstract contract Test {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address[] private _targetContracts;
    FuzzSelector[] private _targetSelectors;
    address[] private _targetSenders;

    error AssertionFailed(string what, uint256 left, uint256 right);
    error AssertionFailedBytes(string what, bytes32 left, bytes32 right);

    /// @dev The block time through a cheatcode: via-IR may re-read `block.timestamp` after a warp instead of
    /// keeping an earlier value, so tests never hold `block.timestamp` in a variable across warps.
    function _now() internal view returns (uint256) {
        return vm.getBlockTimestamp();
    }

    function assertEq(uint256 a, uint256 b, string memory what) internal pure {
        if (a != b) revert AssertionFailed(what, a, b);
    }

    function assertEq(uint256 a, uint256 b) internal pure {
        assertEq(a, b, "not equal");
    }

    function assertEq(address a, address b, string memory what) internal pure {
        if (a != b) revert AssertionFailed(what, uint160(a), uint160(b));
    }

    function assertEq(address a, address b) internal pure {
        assertEq(a, b, "addresses differ");
    }

    function assertEq(bytes32 a, bytes32 b, string memory what) internal pure {
        if (a != b) revert AssertionFailedBytes(what, a, b);
    }

    function assertEq(bytes32 a, bytes32 b) internal pure {
        assertEq(a, b, "bytes32 differ");
    }

    function assertEq(bool a, bool b, string memory what) internal pure {
        if (a != b) revert AssertionFailed(what, a ? 1 : 0, b ? 1 : 0);
    }

    function assertTrue(bool a, string memory what) internal pure {
        if (!a) revert AssertionFailed(what, 0, 1);
    }

    function assertTrue(bool a) internal pure {
        assertTrue(a, "expected true");
    }

    function assertLe(uint256 a, uint256 b, string memory what) internal pure {
        if (a > b) revert AssertionFailed(what, a, b);
    }

    function assertGe(uint256 a, uint256 b, string memory what) internal pure {
        if (a < b) revert AssertionFailed(what, a, b);
    }

    function assertLt(uint256 a, uint256 b, string memory what) internal pure {
        if (a >= b) revert AssertionFailed(what, a, b);
    }

    /// @dev Maps x into [min, max] (inclusive) keeping small values stable, like forge-std's bound.
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        require(min <= max, "bound: min > max");
        if (x >= min && x <= max) return x;
        uint256 size = max - min + 1;
        if (size == 0) return x; // full range
        return min + (x % size);
    }

    function targetContract(address target) internal {
        _targetContracts.push(target);
    }

    function targetSelector(FuzzSelector memory selector) internal {
        _targetSelectors.push(selector);
    }

    function targetSender(address sender) internal {
        _targetSenders.push(sender);
    }

    function targetContracts() public view returns (address[] memory) {
        return _targetContracts;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetSelectors;
    }

    function targetSenders() public view returns (address[] memory) {
        return _targetSenders;
    }
}

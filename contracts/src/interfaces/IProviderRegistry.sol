// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Resources} from "./Types.sol";

/// @title IProviderRegistry
/// @notice One record per provider wallet: capacity, prices (LNQ wei per unit-hour), region, metadata hash,
/// GPU classes and a reputation derived from escrow outcomes. Used capacity changes only through the escrow.
interface IProviderRegistry {
    /// @notice Capacity of a provider: CPU millicores, memory MiB, storage GiB.
    struct Capacity {
        uint32 cpuMillis;
        uint32 memoryMiB;
        uint32 storageGiB;
    }

    /// @notice Base prices in LNQ wei per unit-hour.
    struct BaseRanges {
        uint64 cpuPerMilliHour;
        uint64 memoryPerMiBHour;
        uint64 storagePerGiBHour;
    }

    /// @notice A GPU class of a provider; `pricePerHour` is LNQ wei per GPU-hour.
    struct GpuClass {
        bytes32 model;
        uint32 total;
        uint32 used;
        uint128 pricePerHour;
    }

    /// @notice Escrow outcomes counted at release, never for an escrow whose requestor is the provider itself.
    /// `completed`: ran to its end; `stoppedEarly`: stopped by the requestor after paying at least the minimum
    /// prepaid period; `cancelled`: neither started nor declined by the provider within the start window;
    /// `totalEarned`: LNQ wei paid to the provider by completed and stopped escrows. A requestor's cancel inside
    /// the window, a provider's decline and a move to another provider count nothing.
    struct Reputation {
        uint32 completed;
        uint32 stoppedEarly;
        uint32 cancelled;
        uint128 totalEarned;
    }

    /// @notice Everything the registry knows about one provider.
    struct ProviderView {
        address provider;
        bool active;
        uint40 registeredAt;
        bytes32 region;
        bytes32 metaHash;
        Capacity total;
        Capacity used;
        BaseRanges prices;
        Reputation reputation;
        uint16[] gpuClassIds;
    }

    // ----- errors -----
    /// @notice The caller (or `provider`) already has a record.
    error AlreadyRegistered(address provider);
    /// @notice `provider` has no record; call register first.
    error NotRegistered(address provider);
    /// @notice `provider` is deactivated and takes no new escrows.
    error ProviderInactive(address provider);
    /// @notice Not enough free capacity; `resource`: 0 cpu, 1 memory, 2 storage, 3 gpu.
    error InsufficientCapacity(uint8 resource, uint256 requested, uint256 available);
    /// @notice A new total would be below what is in use; `resource`: 0 cpu, 1 memory, 2 storage, 3 gpu.
    error CapacityBelowUsed(uint8 resource, uint256 requestedTotal, uint256 used);
    /// @notice The provider has no GPU class `classId`.
    error UnknownGpuClass(address provider, uint16 classId);
    /// @notice A new GPU class needs a non-zero model.
    error InvalidGpuModel(uint16 classId);
    /// @notice The provider already has the maximum number of GPU classes.
    error TooManyGpuClasses(uint256 max);
    /// @notice Region must be a non-empty right-padded ASCII string.
    error InvalidRegion(bytes32 region);
    /// @notice Only the bound escrow contract may call this.
    error NotEscrow(address caller);
    /// @notice Only the deployer may bind the escrow, and only once.
    error EscrowAlreadyBound(address escrow);
    /// @notice Only the deployer may bind the escrow.
    error NotDeployer(address caller);
    /// @notice The escrow address must be non-zero.
    error ZeroEscrow();
    /// @notice Release outcome must be 0 (no reputation change), 1 (completed), 2 (stopped early), 3 (not answered
    /// within the start window) or 4 (stopped before the minimum prepaid period: only `totalEarned` counts).
    error InvalidOutcome(uint8 outcome);
    /// @notice A published metadata document is empty or longer than `max` bytes.
    error InvalidMeta(uint256 length, uint256 max);

    // ----- events -----
    event ProviderRegistered(
        address indexed provider, Capacity total, BaseRanges prices, bytes32 region, bytes32 metaHash
    );
    event BaseRangesUpdated(address indexed provider, BaseRanges prices);
    event CapacityUpdated(address indexed provider, Capacity total);
    event GpuClassUpdated(
        address indexed provider, uint16 indexed classId, bytes32 model, uint32 total, uint128 pricePerHour
    );
    event MetaUpdated(address indexed provider, bytes32 metaHash);
    event MetaPublished(address indexed provider, bytes32 metaHash, bytes meta);
    event RegionUpdated(address indexed provider, bytes32 region);
    event ProviderDeactivated(address indexed provider);
    event ProviderReactivated(address indexed provider);
    event EscrowBound(address indexed escrow);

    // ----- provider actions -----
    function register(Capacity calldata total, BaseRanges calldata prices, bytes32 region, bytes32 metaHash) external;
    function updateBaseRanges(BaseRanges calldata prices) external;
    function updateCapacity(Capacity calldata total) external;
    function updateGpuClass(uint16 classId, bytes32 model, uint32 total, uint128 pricePerHour) external;
    function updateMeta(bytes32 metaHash) external;
    function publishMeta(bytes calldata meta) external;
    function updateRegion(bytes32 region) external;
    function deactivate() external;
    function reactivate() external;

    // ----- views -----
    function providerCount() external view returns (uint256);
    function providersPage(uint256 offset, uint256 limit) external view returns (address[] memory);
    function getProvider(address provider) external view returns (ProviderView memory);
    function getProviders(address[] calldata providers) external view returns (ProviderView[] memory);
    function usedCapacity(address provider) external view returns (Capacity memory);
    function gpuClass(address provider, uint16 classId) external view returns (GpuClass memory);
    function quote(address provider, Resources calldata r) external view returns (uint128 ratePerHour);
    function isRegistered(address provider) external view returns (bool);
    function escrow() external view returns (address);
    function deployer() external view returns (address);

    // ----- escrow only -----
    function bindEscrow(address escrow_) external;
    function reserve(address provider, Resources calldata r) external returns (uint128 ratePerHour);
    function reserveAt(address provider, Resources calldata r) external;
    function release(address provider, Resources calldata r, uint8 outcome, uint256 providerEarned) external;
}

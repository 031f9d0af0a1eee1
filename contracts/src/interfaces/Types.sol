// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @notice What a deployment uses on a provider: CPU in millicores, memory in MiB, storage in GiB and
/// `gpuCount` GPUs of the provider's class `gpuClass` (ignored when `gpuCount` is 0).
struct Resources {
    uint32 cpuMillis;
    uint32 memoryMiB;
    uint32 storageGiB;
    uint16 gpuClass;
    uint16 gpuCount;
}

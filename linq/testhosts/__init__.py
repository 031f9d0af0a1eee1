"""SSH test hosts built from network namespaces, for running the provider playbooks over real SSH."""

from linq.testhosts.hosts import Host, HostList, TestHostError, test_hosts
from linq.testhosts.requirements import in_ci, missing_requirements

__all__ = ["Host", "HostList", "TestHostError", "in_ci", "missing_requirements", "test_hosts"]

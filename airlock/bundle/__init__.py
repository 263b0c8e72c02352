"""The signed offline bundle: everything an air-gapped datacenter installs, and its checks."""

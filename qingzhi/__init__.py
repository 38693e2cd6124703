"""qingzhi: real-time command-and-dispatch for police command centres."""

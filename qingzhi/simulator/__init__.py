"""The fleet simulator: a district, its units and their devices, and 110 calls (`qingzhi simulate`)."""

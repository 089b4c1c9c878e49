"""The channel plugins shipped with Fengqiao (registered as `fengqiao.channels` entry points)."""

"""The WeCom front."""

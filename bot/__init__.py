"""hdbot: hidden-danger reporting for a production-safety rectification campaign."""

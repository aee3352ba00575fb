"""The fronts, thin: each parses its updates, calls one domain operation, renders the reply."""

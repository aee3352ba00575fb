"""What to say, built from domain results as plain data (reply.py): texts, buttons, cards,
the ledger workbook. No front is imported here; each renders the data in its own terms."""

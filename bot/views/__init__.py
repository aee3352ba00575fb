"""What to say, built from domain results: texts, keyboards, cards, the ledger workbook."""

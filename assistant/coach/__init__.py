"""The coach: answers from the bank (extractive, or written by the model and checked), coaching after a grade, the interview's order."""

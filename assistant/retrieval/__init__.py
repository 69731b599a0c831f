"""Retrieval: BM25 and FAISS indexes over the bank, weighted rank fusion, the scope decision, and the searches written for each record."""

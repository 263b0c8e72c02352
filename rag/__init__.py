"""The knowledge base: loaders, chunking, the Milvus store, hybrid retrieval, evaluation."""

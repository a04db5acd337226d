// Tokenization module — see CONVENTIONS layout.
enum TokenizationModule {}

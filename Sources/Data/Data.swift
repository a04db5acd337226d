// Data module — see CONVENTIONS layout.
enum DataModule {}

// Models module — see CONVENTIONS layout.
enum ModelsModule {}

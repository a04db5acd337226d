// Training module — see CONVENTIONS layout.
enum TrainingModule {}

// Evaluation module — see CONVENTIONS layout.
enum EvaluationModule {}

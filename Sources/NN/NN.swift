// NN module — see CONVENTIONS layout.
enum NNModule {}

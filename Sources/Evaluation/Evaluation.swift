// Evaluation.swift — home of evaluation that needs a trained model but not the trainer: ROUGE (ROUGE.swift,
// PorterStemmer.swift) and generation-based reports. Held-out preference accuracy and TRL's eval metrics live in
// Training/PreferenceEvaluation.swift, because the trainer itself evaluates during training and Training cannot depend
// on this module.
public enum EvaluationModule {}

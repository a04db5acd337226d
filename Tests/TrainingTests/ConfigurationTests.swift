// ConfigurationTests.swift — YAML recipes with TRL key names, overrides, and an error naming the key for every
// bad key or value; the default recipe file equals the built-in one.
import Foundation
import Testing
import Models
import RunMetrics
import NN
@testable import Training

@Suite struct ConfigurationTests {
  func load(_ yaml: String, _ settings: [String] = [], flags: [ConfigurationOverride] = []) throws -> TrainingConfiguration {
    try TrainingConfiguration.load(recipeText: yaml, name: "recipe.yaml",
                                   overrides: try settings.map(ConfigurationOverride.init(setting:)) + flags)
  }

  /// The error `load` throws, as printed.
  func message(_ yaml: String, _ settings: [String] = [], flags: [ConfigurationOverride] = []) -> String {
    do { _ = try load(yaml, settings, flags: flags); return "" } catch { return "\(error)" }
  }

  /// `--set method=sft` on the built-in recipe is the default job trained with SFT: the recipe's ORPO `beta` gives
  /// way (back to its default, blamed on no line); DPO takes beta, so it keeps the recipe's. A recipe the user wrote
  /// still refuses a key its method does not take, naming the line.
  @Test func aMethodOverrideDropsTheBuiltInRecipesKeysThatMethodDoesNotTake() throws {
    let sft = try DefaultRecipe.configuration(overrides: [try ConfigurationOverride(setting: "method=sft")])
    #expect(sft.method == .sft && sft.source(of: "beta") == .builtInDefault)
    #expect(sft.maxLength == 256 && sft.source(of: "max_length") == .recipe("built-in default recipe", line: 9))
    let dpo = try DefaultRecipe.configuration(overrides: [try ConfigurationOverride(setting: "method=dpo")])
    #expect(dpo.method == .dpo && dpo.source(of: "beta") == .recipe("built-in default recipe", line: 8))
    #expect(message(DefaultRecipe.yaml, ["method=sft"])
            == "recipe.yaml:8: key \"beta\": does not apply to method sft (sft takes no method keys)")
    #expect(try DefaultRecipe.configuration().source(of: "beta") == .recipe("built-in default recipe", line: 8))
  }

  @Test func readsTRLKeys() throws {
    let c = try load("""
      learning_rate: 5e-4
      beta: 0.2
      per_device_train_batch_size: 4
      gradient_accumulation_steps: 2
      max_length: 256
      lr_scheduler_type: cosine
      warmup_ratio: 0.1
      max_steps: 100
      logging_steps: 5
      eval_strategy: steps
      eval_steps: 20
      save_steps: 50
      save_total_limit: 2
      report_to: tensorboard
      lora:
        r: 8
        lora_alpha: 16
        target_modules: ".*(q|v)_proj"
      """)
    #expect(c.learningRate == 5e-4)  // YAML 1.1 reads 5e-4 as text; accepted as a number like HF users expect
    #expect(c.beta == 0.2 && c.perDeviceTrainBatchSize == 4 && c.gradientAccumulationSteps == 2)
    #expect(c.lrSchedulerType == .cosine && c.warmupRatio == 0.1 && c.maxSteps == 100)
    #expect(c.evalStrategy == .steps && c.evalSteps == 20 && c.saveSteps == 50 && c.saveTotalLimit == 2)
    #expect(c.reportTo == [.tensorboard])
    #expect(c.lora.rank == 8 && c.lora.alpha == 16 && c.lora.dropout == 0.05)
    #expect(c.lora.targetModules == .pattern(".*(q|v)_proj"))
    #expect(c.stepPlan(trainPairs: 100).totalSteps == 100)
  }

  @Test func overridesWinOverTheRecipe() throws {
    let c = try load("learning_rate: 1e-4\nlora:\n  r: 8\n", ["learning_rate=3e-4", "lora.r=4", "max_steps=7"],
                     flags: [.flag("--beta", \.beta, 0.25)])
    #expect(c.learningRate == 3e-4 && c.lora.rank == 4 && c.maxSteps == 7 && c.beta == 0.25)
    #expect(c.source(of: "learning_rate") == .set("learning_rate=3e-4"))
    #expect(c.source(of: "lora.r") == .set("lora.r=4"))
    #expect(c.source(of: "beta") == .flag("--beta"))
    #expect(c.source(of: "seed") == .builtInDefault)
    let section = try load("lora:\n  r: 8\n", ["lora={r: 2, lora_alpha: 4}"])
    #expect(section.lora.rank == 2 && section.lora.alpha == 4 && section.source(of: "lora.r") == .set("lora={r: 2, lora_alpha: 4}"))
    // A later override wins over an earlier one.
    #expect(try load("", ["seed=1", "seed=2"]).seed == 2)
  }

  /// Each typed key: a good value read as its type, and a bad one named with what was expected.
  @Test func typedKeysReadGoodValuesAndNameBadOnes() throws {
    #expect(try load("method: orpo").method == .orpo)
    #expect(try load("method: dpo").method == .dpo)
    #expect(message("method: ppo")
      == "recipe.yaml:1: key \"method\": expected one of orpo, sft, dpo, ipo, simpo, cpo, kto, found \"ppo\"")
    #expect(try load("finetuning_type: full").finetuningType == .full)
    #expect(message("finetuning_type: prefix")
      == "recipe.yaml:1: key \"finetuning_type\": expected one of lora, full, found \"prefix\"")
    #expect(try load("eval_strategy: no").evalStrategy == .no)  // YAML 1.1's `no` is a word here, not false
    #expect(try load("eval_strategy: epoch").evalStrategy == .epoch)
    #expect(message("eval_strategy: sometimes")
      == "recipe.yaml:1: key \"eval_strategy\": expected one of no, steps, epoch, found \"sometimes\"")
    #expect(try load("lr_scheduler_type: inverse_sqrt").lrSchedulerType == .inverseSqrt)
    #expect(message("lr_scheduler_type: exponential") == "recipe.yaml:1: key \"lr_scheduler_type\": expected one of "
      + "linear, cosine, constant, constant_with_warmup, inverse_sqrt, found \"exponential\"")
    #expect(try load("report_to: [jsonl, tensorboard]").reportTo == [.jsonl, .tensorboard])
    #expect(try load("report_to: none").reportTo == [MetricsSinkKind.none])
    #expect(try load("report_to: [jsonl, mlflow]").reportTo == [.jsonl, .mlflow])
    #expect(message("report_to: comet_ml") == "recipe.yaml:1: key \"report_to\": expected one of tensorboard, jsonl, mlflow, "
      + "none, all, or a list of them, found \"comet_ml\"")
    #expect(message("report_to: [jsonl, wandb]") == "recipe.yaml:1: key \"report_to\": wandb (Weights & Biases) is not "
      + "written directly: report to tensorboard (report_to: [jsonl, tensorboard]) and upload the event files with "
      + "`wandb sync --sync-tensorboard <output_dir>/tensorboard`")
    #expect(try load("torch_dtype: bf16").torchDtype == .bfloat16)
    #expect(try load("torch_dtype: float16").torchDtype == .float16)
    #expect(message("torch_dtype: int8")
      == "recipe.yaml:1: key \"torch_dtype\": expected one of float32, bfloat16, float16, found \"int8\"")
    #expect(try load("device: cuda:1").device == .cuda(1))
    #expect(try load("device: cpu").device == .cpu)
    #expect(message("device: cuda:O") == "recipe.yaml:1: key \"device\": expected cpu, cuda or cuda:N, found \"cuda:O\"")
    #expect(try load("beta_schedule: cosine\nbeta_end: 0.0").betaScheduleValue.shape == .cosine)
    #expect(message("beta_schedule: step")
      == "recipe.yaml:1: key \"beta_schedule\": expected one of constant, linear, cosine, found \"step\"")
    #expect(try load("disable_prompt_loss: true").disablePromptLoss)
    #expect(message("disable_prompt_loss: maybe")
      == "recipe.yaml:1: key \"disable_prompt_loss\": expected true or false, found \"maybe\"")
    #expect(message("max_steps: 2.5") == "recipe.yaml:1: key \"max_steps\": expected a whole number, found 2.5")
    #expect(message("learning_rate: fast") == "recipe.yaml:1: key \"learning_rate\": expected a number, found \"fast\"")
    #expect(message("learning_rate: \"1e-4\"") == "recipe.yaml:1: key \"learning_rate\": expected a number, found \"1e-4\"")
    #expect(try load("save_steps: null").saveSteps == nil)
    #expect(message("output_dir: null") == "recipe.yaml:1: key \"output_dir\": expected a string, found null")
    #expect(try load("lora:\n  target_modules: all-linear").lora.targetModules == .allLinear)
    #expect(try load("lora:\n  target_modules: \".*proj\"").lora.targetModules == .pattern(".*proj"))
    #expect(try load("lora:\n  target_modules: [q_proj]").lora.targetModules == .names(["q_proj"]))
  }

  @Test func everyBadKeyOrValueIsNamed() {
    #expect(message("learning_rat: 1e-4") == "recipe.yaml:1: unknown key \"learning_rat\" (did you mean \"learning_rate\"?)")
    #expect(message("lora:\n  rank: 8\n") == "recipe.yaml:2: unknown key \"lora.rank\" (did you mean \"lora.r\"?)")
    #expect(message("lora:\n  fan_in_fan_out: true\n") == "recipe.yaml:2: unknown key \"lora.fan_in_fan_out\" "
      + "(lora takes r, lora_alpha, lora_dropout, target_modules, use_rslora)")
    #expect(message("completely_unrelated: 1") == "recipe.yaml:1: unknown key \"completely_unrelated\"")
    #expect(message("lora: 8") == "recipe.yaml:1: key \"lora\": expected a mapping of r, lora_alpha, lora_dropout, "
      + "target_modules, use_rslora, found 8")
    #expect(message("seed: 1\nbeta: 0.1\nseed: 2") == "recipe.yaml:3: key \"seed\": given twice (first on line 1)")
    #expect(message("learning_rate: -1") == "recipe.yaml:1: key \"learning_rate\": must be a positive number, got -1")
    #expect(message("per_device_train_batch_size: 0")
      == "recipe.yaml:1: key \"per_device_train_batch_size\": must be at least 1, got 0")
    #expect(message("warmup_ratio: 1.5") == "recipe.yaml:1: key \"warmup_ratio\": must be in [0, 1), got 1.5")
    #expect(message("lora:\n  lora_dropout: 1.0\n") == "recipe.yaml:2: key \"lora.lora_dropout\": must be in [0, 1), got 1")
    #expect(message("max_steps: 0") == "recipe.yaml:1: key \"max_steps\": must be -1 (use num_train_epochs) or at least 1, got 0")
    #expect(message("eval_steps: 0") == "recipe.yaml:1: key \"eval_steps\": must be at least 1, got 0")
    #expect(message("load_in_4bit: true")
      == "recipe.yaml:1: unknown key \"load_in_4bit\" (did you mean \"quantization.load_in_4bit\"?)")
    #expect(message("beta_end: 0.0") == "recipe.yaml:1: key \"beta_end\": needs beta_schedule linear or cosine "
      + "(beta_schedule is constant, so beta_end would be ignored)")
    #expect(message("beta_schedule: linear") == "recipe.yaml:1: key \"beta_schedule\": linear needs beta_end, the λ to anneal to")
    #expect(message("eval_dataset: a.jsonl\ntest_size: 0.1")
      == "recipe.yaml:2: key \"test_size\": eval_dataset is also set; give one of them")
    #expect(message("setup_chat_format: true\nclone_chat_template: Qwen/Qwen3-0.6B")
      == "recipe.yaml:2: key \"clone_chat_template\": setup_chat_format is also set; give one of them")
    #expect(message("- a list") == "recipe.yaml:1: expected a mapping of TrainingArguments keys at the top level")
    #expect(message("key: [unclosed").hasPrefix("recipe.yaml:2: not valid YAML ("))
  }

  /// The error names the place that set the bad value: the recipe line, a flag, `--set`, the built-in default, code.
  @Test func errorsBlameWhereTheValueCameFrom() throws {
    #expect(message("seed: 1\nbeta: -1\n") == "recipe.yaml:2: key \"beta\": must be >= 0, got -1")
    #expect(message("beta: 0.1", flags: [.flag("--beta", \.beta, -1)]) == "--beta: must be >= 0, got -1")
    #expect(message("beta: 0.1", ["beta=-1"]) == "--set beta=-1: must be >= 0, got -1")
    #expect(message("", ["max_length=1"]) == "--set max_length=1: must be at least 2, got 1")
    #expect(message("", ["learning_rat=1"]) == "--set learning_rat=1: unknown key \"learning_rat\" (did you mean \"learning_rate\"?)")
    #expect(message("", ["lora.rank=8"]) == "--set lora.rank=8: unknown key \"lora.rank\" (did you mean \"lora.r\"?)")
    #expect(message("", ["device=cuda:O"]) == "--set device=cuda:O: expected cpu, cuda or cuda:N, found \"cuda:O\"")
    #expect(throws: ConfigurationError("expected KEY=VALUE", source: .set("beta"))) { try ConfigurationOverride(setting: "beta") }
    // A cross-key check blames the key at fault where it was set: here the flag, there the recipe.
    #expect(message("seed: 1", flags: [.flag("--beta-end", \.betaEnd, 0.05)])
      == "--beta-end: needs beta_schedule linear or cosine (beta_schedule is constant, so beta_end would be ignored)")
    #expect(message("beta_schedule: linear\nbeta_end: 0.0", ["beta_end=null"])
      == "recipe.yaml:1: key \"beta_schedule\": linear needs beta_end, the λ to anneal to")
    var c = try load("")
    #expect(c.error("model", "the default model is missing").description
      == "built-in default: key \"model\": the default model is missing")
    c.beta = -1
    #expect(throws: ConfigurationError("must be >= 0, got -1", key: "beta", source: .code)) { try c.validate() }
    #expect("\(ConfigurationError("must be >= 0, got -1", key: "beta", source: .code))" == "set in code: key \"beta\": must be >= 0, got -1")
  }

  /// A key that belongs to other methods is refused with the keys the chosen method takes.
  @Test func methodKeysApplyOnlyToTheirMethod() throws {
    let c = try load("beta: 0.3")
    #expect(c.source(of: "beta") == .recipe("recipe.yaml", line: 1))
    let keys = TrainingConfiguration.keys.map { key in
      key.name == "beta" ? ConfigurationKey("beta", \.beta, methods: [], help: "for a method other than the one chosen") : key
    }
    #expect(throws: ConfigurationError("does not apply to method orpo (orpo takes beta_end, beta_schedule, disable_prompt_loss)",
                                       key: "beta", source: .recipe("recipe.yaml", line: 1))) { try c.validate(keys: keys) }
    // At its default the key is simply unused.
    try TrainingConfiguration().validate(keys: keys)
    #expect(TrainingConfiguration.keys.filter { $0.methods == [.orpo] }.map(\.name)
      == ["beta_end", "beta_schedule", "disable_prompt_loss"])
  }

  /// Each baseline takes its own keys, and the loss types and key combinations TRL's trainers define.
  @Test func baselineMethodsCheckTheirKeys() throws {
    let dpo = try load("method: dpo\nloss_type: robust\nlabel_smoothing: 0.1\nprecompute_ref_log_probs: true\n")
    #expect(dpo.dpoLossType == .robust && dpo.labelSmoothing == 0.1 && dpo.objectiveSchedule.objective(at: 0, of: 1).needsReference)
    #expect(try load("method: ipo").dpoLossType == .ipo)
    let simpo = try load("method: simpo\nsimpo_gamma: 1.0\n")
    #expect(simpo.cpoLossType == .simpo && simpo.cpoAlphaValue == 0 && simpo.simpoGamma == 1.0)
    #expect(try load("method: cpo").cpoAlphaValue == 1)
    #expect(message("method: sft\nbeta: 0.2\n")
      == "recipe.yaml:2: key \"beta\": does not apply to method sft (sft takes no method keys)")
    #expect(message("method: dpo\nloss_type: simpo\n")
      == "recipe.yaml:2: key \"loss_type\": simpo is CPO's loss (use method: simpo); dpo takes sigmoid, hinge, ipo, robust")
    #expect(message("method: dpo\nlabel_smoothing: 0.1\n")
      == "recipe.yaml:2: key \"label_smoothing\": applies to loss_type robust (TRL 1.16's sigmoid loss ignores it)")
    #expect(message("method: dpo\nloss_type: robust\nlabel_smoothing: 0.5\n")
      == "recipe.yaml:3: key \"label_smoothing\": must be in [0, 0.5), got 0.5")
    #expect(message("method: cpo\nsimpo_gamma: 1\n")
      == "recipe.yaml:2: key \"simpo_gamma\": applies to loss_type simpo (loss_type is sigmoid)")
    #expect(message("method: kto\nper_device_train_batch_size: 1\n").hasSuffix(
      "key \"per_device_train_batch_size\": must be at least 2 for kto: the KL term pairs each prompt with another row's answer in the batch"))
    #expect(message("method: orpo\ncpo_alpha: 1\n").hasPrefix("recipe.yaml:2: key \"cpo_alpha\": does not apply to method orpo"))
  }

  /// The key table covers every stored setting, and the key reference lists every key with its default.
  @Test func keyTableCoversEverySetting() throws {
    func leaves(_ value: Any, prefix: String) -> [String] {
      Mirror(reflecting: value).children.flatMap { child -> [String] in
        let label = child.label ?? ""
        if label == "sources" { return [] }
        if child.value is LoRAConfiguration { return leaves(child.value, prefix: "lora.") }
        if child.value is QuantizationSettings { return leaves(child.value, prefix: "quantization.") }
        return [prefix + label]
      }
    }
    #expect(leaves(TrainingConfiguration(), prefix: "").count == TrainingConfiguration.keys.count)
    #expect(Set(TrainingConfiguration.keys.map(\.name)).count == TrainingConfiguration.keys.count)
    let reference = TrainingConfiguration.keyReference
    for key in TrainingConfiguration.keys { #expect(reference.contains("\n" + key.name + " ") || reference.hasPrefix(key.name)) }
    #expect(reference.contains("a number; must be a positive number; default 1e-06"))
    #expect(reference.contains("ORPO's λ (the weight of the odds-ratio term); the β of DPO, IPO, SimPO, CPO and KTO (reward scale). (orpo, dpo, ipo, simpo, cpo, kto)"))
  }

  @Test func stepPlanFollowsHuggingFace() throws {
    var c = try load("per_device_train_batch_size: 4\ngradient_accumulation_steps: 3\nnum_train_epochs: 2\n")
    // 50 pairs -> 13 batches -> ceil(13/3) = 5 steps per epoch -> 10 steps
    #expect(c.stepPlan(trainPairs: 50).stepsPerEpoch == 5)
    #expect(c.stepPlan(trainPairs: 50).totalSteps == 10)
    c.maxSteps = 3
    #expect(c.stepPlan(trainPairs: 50).totalSteps == 3)
  }

  @Test func defaultRecipeFileMatchesTheBuiltInOne() throws {
    var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("configs/default.yaml").path) {
      dir = dir.deletingLastPathComponent()
      try #require(dir.path != "/", "configs/default.yaml not found")
    }
    let file = try TrainingConfiguration.load(recipe: dir.appendingPathComponent("configs/default.yaml"))
    let builtIn = try TrainingConfiguration.load(recipeText: DefaultRecipe.yaml, name: "built-in")
    #expect(file == builtIn)
    #expect(builtIn.model == nil && builtIn.dataset == "synthetic" && builtIn.finetuningType == .lora && builtIn.method == .orpo)
  }

  /// The `quantization:` section under BitsAndBytesConfig's names, `quantization: gguf` for short.
  @Test func quantizationSection() throws {
    let qlora = try load("""
      quantization:
        load_in_4bit: true
        bnb_4bit_quant_type: fp4
        bnb_4bit_use_double_quant: true
        bnb_4bit_compute_dtype: bfloat16
      """)
    #expect(qlora.weightQuantization == .fourBit(FourBitConfiguration(type: .fp4, doubleQuantization: true, computeDType: .bfloat16)))
    #expect(try load("", ["quantization.load_in_4bit=true"]).weightQuantization == .fourBit(FourBitConfiguration()))
    #expect(try load("quantization: gguf").weightQuantization == .gguf)
    #expect(try load("", ["quantization=gguf"]).weightQuantization == .gguf)
    #expect(try load("").weightQuantization == WeightQuantization.none)
    #expect(message("quantization:\n  load_in_8bit: true\n")
      == "recipe.yaml:2: key \"quantization.load_in_8bit\": 8-bit base weights (LLM.int8) are not supported; use load_in_4bit: true (QLoRA, NF4)")
    #expect(message("quantization:\n  bnb_4bit_quant_type: nf4\n")
      == "recipe.yaml:2: key \"quantization.bnb_4bit_quant_type\": applies to load_in_4bit: true")
    #expect(message("quantization:\n  bnb_4bit_quant_type: int4\n")
      == "recipe.yaml:2: key \"quantization.bnb_4bit_quant_type\": expected one of nf4, fp4, found \"int4\"")
    #expect(message("quantization: awq") == "recipe.yaml:1: key \"quantization.quant_method\": expected one of none, bitsandbytes, gguf, found \"awq\"")
    #expect(message("quantization:\n  quant_method: bitsandbytes\n")
      == "recipe.yaml:2: key \"quantization.quant_method\": bitsandbytes needs load_in_4bit: true")
    #expect(message("quantization: gguf", ["quantization.load_in_4bit=true"])
      == "--set quantization.load_in_4bit=true: quant_method is gguf (the file's own blocks); give one of them")
    #expect(message("finetuning_type: full\nquantization:\n  load_in_4bit: true\n")
      == "recipe.yaml:3: key \"quantization.load_in_4bit\": quantized base weights are frozen; finetuning_type full trains every weight (use finetuning_type: lora)")
  }

  @Test func seedRecipesParse() throws {
    var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("configs").path) { dir = dir.deletingLastPathComponent() }
    let recipes = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("configs").path).filter { $0.hasSuffix(".yaml") }
    #expect(recipes.count >= 5)
    for name in recipes {
      let url = dir.appendingPathComponent("configs").appendingPathComponent(name)
      _ = try TrainingConfiguration.load(recipe: url)
    }
  }

  @Test func schedulesMatchTransformers() {
    // transformers get_linear_schedule_with_warmup(warmup=2, total=10): step 0 -> 0, 1 -> 0.5, 2 -> 1, then linear to 0
    let linear = LearningRateSchedule(type: .linear, baseRate: 1, warmupSteps: 2, totalSteps: 10)
    #expect((0..<4).map(linear.factor(at:)) == [0, 0.5, 1, 0.875])
    let cosine = LearningRateSchedule(type: .cosine, baseRate: 1, warmupSteps: 0, totalSteps: 4)
    #expect(Swift.abs(cosine.factor(at: 2) - 0.5) < 1e-12)
    #expect(Swift.abs(cosine.factor(at: 1) - 0.5 * (1 + Foundation.cos(Double.pi / 4))) < 1e-12)
    let invSqrt = LearningRateSchedule(type: .inverseSqrt, baseRate: 1, warmupSteps: 4, totalSteps: 100)
    #expect(invSqrt.factor(at: 4) == 1 && Swift.abs(invSqrt.factor(at: 16) - 0.5) < 1e-12)
    #expect(LearningRateSchedule.warmupSteps(steps: 0, ratio: 0.1, totalSteps: 25) == 3)
    let beta = BetaSchedule(shape: .linear, start: 0.2, end: 0.0)
    #expect(beta.value(at: 0, of: 11) == 0.2 && Swift.abs(beta.value(at: 10, of: 11)) < 1e-12)
    let cosBeta = BetaSchedule(shape: .cosine, start: 1, end: 0)
    #expect(Swift.abs(cosBeta.value(at: 5, of: 11) - 0.5) < 1e-12)
  }
}

import ChatTemplates

@Suite struct TemplateFileTests {
  @Test func chatMLTemplateFileEqualsTheBuiltInOne() throws {
    var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("configs/templates").path) { dir = dir.deletingLastPathComponent() }
    let text = try String(contentsOf: dir.appendingPathComponent("configs/templates/chatml.jinja"), encoding: .utf8)
    #expect(text == ChatTemplate.chatML)
  }
}

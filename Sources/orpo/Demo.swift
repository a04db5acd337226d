// Demo.swift — `orpo demo`: a tiny autograd run (fit y = 3x + 1 by gradient descent) proving the engine works.
import ArgumentParser
import ORPOKit

struct Demo: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Fit a line with libtorch autograd from Swift.")

  @Option(help: "Gradient-descent steps.") var steps = 200

  func run() throws {
    Torch.manualSeed(0)
    let x = try Tensor.randn([64, 1])
    let y = try x * 3.0 + 1.0
    let w = try Tensor.zeros([1, 1]).requiringGrad()
    let b = try Tensor.zeros([1]).requiringGrad()
    for step in 1...steps {
      let loss = try (x.linear(weight: w, bias: b) - y).square().mean()
      try loss.backward()
      try withNoGrad {
        try w.add_(w.grad!, alpha: -0.1)
        try b.add_(b.grad!, alpha: -0.1)
        try w.setGrad(nil)
        try b.setGrad(nil)
      }
      if step == 1 || step % 50 == 0 { print("step \(step)  loss \(String(format: "%.6f", try loss.item()))") }
    }
    print("w = \(try w.item()), b = \(try b.item())  (true: 3, 1)")
  }
}

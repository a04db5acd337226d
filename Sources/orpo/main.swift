import ORPOKit
print(Torch.version)
let a = try Tensor([1, 2, 3, 4] as [Float], shape: [2, 2])
print(try a.matmul(a))

// Namespaces nearly every file of the library uses (tensors, modules, devices).
global using TorchSharp;
global using static TorchSharp.torch;

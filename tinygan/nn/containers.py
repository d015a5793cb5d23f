"""ModuleList: a list of modules that is itself a module (Sequential, which also runs them in order, is in
layers.py)."""

from .module import Module


class ModuleList(Module):
    """A list of modules that is itself a module, so their parameters are the owner's (PyTorch's ModuleList):

        self.blocks = tg.nn.ModuleList([tg.nn.Linear(8, 8) for _ in range(3)])
        for block in self.blocks: x = block(x).relu()

    (A plain Python list of modules works too in tinygan: Module looks inside lists.) Its modules are named "0",
    "1", ... like a Sequential's."""

    def __init__(self, modules=()):
        super().__init__()
        self._count = 0
        self.extend(modules)

    def append(self, module):
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList.append: expected a Module, got {type(module).__name__}")
        setattr(self, str(self._count), module)
        self._count += 1
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def __len__(self):
        return self._count

    def __iter__(self):
        return iter([getattr(self, str(index)) for index in range(self._count)])

    def __getitem__(self, index):
        modules = list(self)
        return ModuleList(modules[index]) if isinstance(index, slice) else modules[index]

    def forward(self, *args, **kwargs):
        raise NotImplementedError("a ModuleList has no forward: iterate over it and call its modules")

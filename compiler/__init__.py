"""The compiler: ISA (``isa``, ``encoding``, ``asm``, ``isa_doc``), front end (``frontend`` and
``frontend_*``, ``llama_ir``, ``ir``, ``interp``), passes (``passes/``: formats, packing, tiling,
memory, tokens), code generation (``codegen``, ``lower_ops``, ``lower_attention``, ``relocate``)
and length-adaptive builds (``build``, ``target``, ``output``, ``models``). See docs/compiler.md."""

"""Package discovery for the folder-to-subpackage mapping declared in pyproject.toml."""
from pathlib import Path

from setuptools import find_packages, setup

ROOTS = {"bitflight": "bitflight", "golden": "bitflight.golden", "compiler": "bitflight.compiler",
         "sim": "bitflight.sim", "rtl": "bitflight.rtl", "fpga": "bitflight.fpga",
         "configs": "bitflight.configs"}

packages, package_dir = [], {}
for folder, name in ROOTS.items():
    package_dir[name] = folder
    packages.append(name)
    for sub in find_packages(folder):
        packages.append(f"{name}.{sub}")
        package_dir[f"{name}.{sub}"] = str(Path(folder, *sub.split(".")))

setup(packages=packages, package_dir=package_dir)

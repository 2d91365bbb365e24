"""The distribution's packages (the rest of the metadata is in pyproject.toml).

`tablesafe` and `tablesafe_cli` from lambdas/, and the construct library, the infra/ folder, as `tablesafe_cdk`: a
top-level `infra` in site-packages would clash with, or be shadowed by, the infra/ folder of many a user's CDK app.
infra/ imports itself relatively, so it works under either name; in the repository the `tablesafe_cdk` symlink
points at infra/, so the tests import the construct as a user does. Written here, not in pyproject.toml, because
pyproject's `packages.find` cannot add a package from a folder of another name.
"""

from setuptools import find_packages, setup

setup(
    packages=[
        *find_packages("lambdas", include=["tablesafe", "tablesafe.*", "tablesafe_cli", "tablesafe_cli.*"]),
        "tablesafe_cdk",
    ],
    package_dir={"": "lambdas", "tablesafe_cdk": "infra"},
)

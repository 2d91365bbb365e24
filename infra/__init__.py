"""tablesafe's infrastructure, installed as `tablesafe_cdk`: the Tablesafe construct, and the standalone app's
CDK context -> validated configuration -> one stack per region."""

from __future__ import annotations

import os
from collections.abc import Mapping

from aws_cdk import App, Validations

from .archive import TablesafeArchiveStack
from .config import TablesafeConfig, load_config
from .construct import Tablesafe
from .stack import TablesafeStack

__all__ = ["Tablesafe", "TablesafeConfig", "TablesafeStack", "build_app", "load_config"]


def build_app(app: App | None = None, environ: Mapping[str, str] = os.environ) -> tuple[App, TablesafeConfig]:
    """Validate the app's context, then add one cdk-nag-checked stack per region.

    A wrong value raises tablesafe.config.plans.ConfigError before any stack exists, so nothing partial is synthesized.
    Example: ``app, _ = build_app(); app.synth()``.
    """
    # No AWS::CDK::Metadata resource, whoever runs the app (the CLI is told the same by cdk.json).
    app = app if app is not None else App(analytics_reporting=False)
    config = load_config(app.node.get_all_context(), environ)
    for region in config.regions:
        TablesafeStack(app, region, config=config)
    if config.organization is not None:
        from .organization import add_organization  # cdk-stacksets is needed only for an organization

        add_organization(app, config)
    if config.archive.source_accounts:  # an archive account is set up: its stack, deployed on its own there
        TablesafeArchiveStack(app, config=config)
    # cdk-nag 3 is a policy-validation plugin: an unacknowledged finding fails synthesis. Acknowledgments (each with
    # its reason, next to the resource in code) are also written into the template's metadata, for review.
    from cdk_nag import AwsSolutionsChecks  # the standalone app's checks: a user of the construct needs no cdk-nag

    Validations.of(app).add_plugins(AwsSolutionsChecks(app, verbose=True, write_suppressions_to_cloud_formation=True))
    return app, config

"""The platform's CloudWatch monitoring facade (cdk-monitoring-constructs), set up once."""

from __future__ import annotations

import cdk_monitoring_constructs as cmc
from aws_cdk import aws_sns as sns
from constructs import Construct


def monitoring_facade(
    scope: Construct,
    *,
    alarm_name_prefix: str,
    alarm_topic: sns.ITopic,
    dashboard_name_prefix: str,
    header: str,
) -> cmc.MonitoringFacade:
    """One dashboard per stack; every alarm notifies ``alarm_topic`` and is named with
    ``alarm_name_prefix`` so alarms of different environments never collide."""
    facade = cmc.MonitoringFacade(
        scope,
        "Monitoring",
        alarm_factory_defaults=cmc.AlarmFactoryDefaults(
            alarm_name_prefix=alarm_name_prefix,
            actions_enabled=True,
            action=cmc.SnsAlarmActionStrategy(on_alarm_topic=alarm_topic),
        ),
        dashboard_factory=cmc.DefaultDashboardFactory(
            scope,
            "Dashboards",
            dashboard_name_prefix=dashboard_name_prefix,
            create_dashboard=True,
            create_alarm_dashboard=False,
            create_summary_dashboard=False,
        ),
    )
    facade.add_large_header(header)
    return facade

"""Start, stop and reboot of EC2 and RDS instances, and reading their state back."""

from __future__ import annotations

from collections.abc import Callable

from botocore.exceptions import ClientError

from server.providers.aws.session import AwsError, AwsTarget, client, explain, run

# Start, stop and reboot of EC2 and RDS instances, and reading their state back. `provider_id`
# is what discovery stores: an EC2 instance id, and for RDS the DB instance identifier or its
# ARN (the action APIs take the identifier only).
# https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_StopDBInstance.html

# EC2 and RDS codes for "not in this state / not for this kind": AWS refused, retrying the
# same call cannot help, so the action fails with AWS's own reason.
_ACTION_REFUSED = {
    "IncorrectInstanceState",
    "IncorrectState",
    "UnsupportedOperation",
    "InvalidDBInstanceState",
    "InvalidDBInstanceStateFault",
    "InvalidDBClusterStateFault",
    "InvalidParameterCombination",
    "InvalidParameterValue",
}
_GONE = {"InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed", "DBInstanceNotFound"}
GONE_STATE = "terminated"


def _rds_identifier(provider_id: str) -> str:
    # arn:aws:rds:<region>:<account>:db:<identifier>
    if provider_id.startswith("arn:"):
        return provider_id.rsplit(":db:", 1)[-1]
    return provider_id


def _refused(exc: ClientError, action: str, what: str) -> AwsError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    if code in _ACTION_REFUSED or code in _GONE:
        message = str(error.get("Message", "")) or code
        reason = f"AWS refused to {action} this {what}: {message}"
        return AwsError(reason, permanent=True, code=code)
    return explain(exc)


def _ec2_action(target: AwsTarget, region: str, instance_id: str, action: str) -> str:
    ec2 = client(target, "ec2", region)
    try:
        if action == "reboot":
            ec2.reboot_instances(InstanceIds=[instance_id])
            return "running"
        call = ec2.start_instances if action == "start" else ec2.stop_instances
        changes = call(InstanceIds=[instance_id])[
            "StartingInstances" if action == "start" else "StoppingInstances"
        ]
    except ClientError as exc:
        raise _refused(exc, action, "instance") from exc
    return str(changes[0]["CurrentState"]["Name"]) if changes else "pending"


def _rds_action(target: AwsTarget, region: str, provider_id: str, action: str) -> str:
    rds = client(target, "rds", region)
    calls = {
        "start": rds.start_db_instance,
        "stop": rds.stop_db_instance,
        "reboot": rds.reboot_db_instance,
    }
    try:
        answer = calls[action](DBInstanceIdentifier=_rds_identifier(provider_id))
    except ClientError as exc:
        raise _refused(exc, action, "database") from exc
    return str(answer["DBInstance"]["DBInstanceStatus"])


def _ec2_state(target: AwsTarget, region: str, instance_id: str) -> str:
    ec2 = client(target, "ec2", region)
    try:
        reservations = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _GONE:
            return GONE_STATE
        raise
    for reservation in reservations:
        for instance in reservation.get("Instances", []):
            return str(instance["State"]["Name"])
    return GONE_STATE


def _rds_state(target: AwsTarget, region: str, provider_id: str) -> str:
    rds = client(target, "rds", region)
    try:
        found = rds.describe_db_instances(DBInstanceIdentifier=_rds_identifier(provider_id))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _GONE | {"DBInstanceNotFoundFault"}:
            return GONE_STATE
        raise
    instances = found.get("DBInstances", [])
    return str(instances[0]["DBInstanceStatus"]) if instances else GONE_STATE


_ACTIONS: dict[str, Callable[[AwsTarget, str, str, str], str]] = {
    "ec2_instance": _ec2_action,
    "rds_instance": _rds_action,
}
_STATES: dict[str, Callable[[AwsTarget, str, str], str]] = {
    "ec2_instance": _ec2_state,
    "rds_instance": _rds_state,
}


async def resource_action(
    target: AwsTarget, *, type: str, region: str, provider_id: str, action: str
) -> str:
    """Ask AWS to start, stop or reboot one resource; the state AWS reports right after.

    A refusal (wrong state, a kind of database AWS cannot stop) is a permanent AwsError
    whose message carries AWS's reason."""
    return await run(_ACTIONS[type], target, region, provider_id, action)


async def resource_state(target: AwsTarget, *, type: str, region: str, provider_id: str) -> str:
    """The resource's state as AWS describes it now; `terminated` when it no longer exists."""
    return await run(_STATES[type], target, region, provider_id)

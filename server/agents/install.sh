#!/bin/sh
# Installs the Upmetr infra agent as a systemd service on this host, reporting as agent
# @AGENT_LABEL@ to @SERVER_LABEL@.
#
#   curl -fsSL -H "Authorization: Bearer $KEY" $SERVER/api/v1/agents/ID/install-script \
#     | sudo UPMETR_AGENT_TOKEN=... sh
#   (or: sh install.sh TOKEN)
#
# The token is not in this script: the server stores only its hash, and shows it once, when
# the agent is created or its token regenerated.
#
# Settings, all optional:
#   UPMETR_AGENT_WHEEL    what pip installs [default: the agent wheel this server serves];
#                         a path or URL of a wheel, or a requirement such as upmetr-agent==1.2
#   UPMETR_PIP_ARGS       more pip arguments, e.g. "--index-url https://pypi.example/simple"
#   UPMETR_AGENT_DOCKER   no: do not add the agent's user to the docker group
#   UPMETR_PYTHON         the Python (3.11 or newer) the agent runs on [default: python3]
#   UPMETR_ROOT           a directory to install under instead of / (images, tests)
set -eu

SERVER_URL=@SERVER_URL@
AGENT_ID=@AGENT_ID@
AGENT_VERSION=@VERSION@
WHEEL_URL="$SERVER_URL/agent/"@WHEEL@

ROOT="${UPMETR_ROOT:-}"
SERVICE_USER=upmetr-agent
PREFIX=/opt/upmetr-agent
CONFIG_DIR=/etc/upmetr-agent
CONFIG="$CONFIG_DIR/agent.toml"
UNIT=/etc/systemd/system/upmetr-agent.service
STATE_DIR=/var/lib/upmetr-agent
PYTHON="${UPMETR_PYTHON:-python3}"
WHEEL="${UPMETR_AGENT_WHEEL:-$WHEEL_URL}"
PIP_ARGS="${UPMETR_PIP_ARGS:-}"

say() { printf 'upmetr-agent: %s\n' "$*"; }
fail() {
    printf 'upmetr-agent: error: %s\n' "$*" >&2
    exit 1
}

TOKEN="${UPMETR_AGENT_TOKEN:-${1:-}}"
[ -n "$TOKEN" ] || fail "no agent token. Pass it as UPMETR_AGENT_TOKEN=... or as the first \
argument; it was shown once when agent $AGENT_ID was created (regenerate it if lost)."
case "$TOKEN" in
    *[!A-Za-z0-9._~+/=-]*) fail "the token has characters a token never has; check the copy" ;;
esac

[ "$(id -u)" -eq 0 ] || fail "run as root (sudo): it creates a user, a service and /opt files"
command -v "$PYTHON" >/dev/null 2>&1 || fail "$PYTHON not found; install Python 3.11 or newer"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
    fail "$PYTHON is older than 3.11; set UPMETR_PYTHON to a newer one"

say "installing agent $AGENT_VERSION (agent $AGENT_ID of $SERVER_URL)"

# 1. A system user with no home and no shell: the service runs as nobody else.
if getent passwd "$SERVICE_USER" >/dev/null 2>&1; then
    say "user $SERVICE_USER exists"
else
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
        "$SERVICE_USER"
    say "created system user $SERVICE_USER"
fi
if [ "${UPMETR_AGENT_DOCKER:-yes}" != no ] && getent group docker >/dev/null 2>&1; then
    usermod -a -G docker "$SERVICE_USER"
    say "added $SERVICE_USER to the docker group, for container stats."
    say "WARNING: the docker group is root-equivalent (whoever can use Docker's socket can"
    say "  start a privileged container). Rerun with UPMETR_AGENT_DOCKER=no to leave it out,"
    say "  and remove it now with: gpasswd -d $SERVICE_USER docker"
fi

# 2. A venv of its own, holding the agent and psutil only.
mkdir -p "$ROOT$PREFIX"
if [ ! -x "$ROOT$PREFIX/bin/pip" ]; then
    "$PYTHON" -m venv "$ROOT$PREFIX" ||
        fail "$PYTHON could not make a venv (Debian and Ubuntu: apt-get install python3-venv)"
fi
# shellcheck disable=SC2086 # PIP_ARGS holds several arguments on purpose
"$ROOT$PREFIX/bin/pip" install --quiet --disable-pip-version-check --upgrade $PIP_ARGS "$WHEEL" ||
    fail "pip could not install $WHEEL (set UPMETR_AGENT_WHEEL or UPMETR_PIP_ARGS to point pip elsewhere)"
say "installed the agent in $PREFIX"

# 3. Settings: readable by root and the service's group only, as they hold the token.
mkdir -p "$ROOT$CONFIG_DIR"
umask 077
cat >"$ROOT$CONFIG.new" <<EOF
# Written by the Upmetr install script. UPMETR_AGENT_* environment variables win over it.
server = "$SERVER_URL"
token = "$TOKEN"
interval = 10
state_dir = "$STATE_DIR"
EOF
chown root:"$SERVICE_USER" "$ROOT$CONFIG.new"
chmod 0640 "$ROOT$CONFIG.new"
mv -f "$ROOT$CONFIG.new" "$ROOT$CONFIG"
chown root:"$SERVICE_USER" "$ROOT$CONFIG_DIR"
chmod 0750 "$ROOT$CONFIG_DIR"
umask 022
say "wrote $CONFIG"

# 4. The service, confined: it only reads /proc and /sys, writes its state directory, and
# talks HTTP(S) and to Docker's socket (systemd.exec(5) for each setting).
mkdir -p "$ROOT$(dirname "$UNIT")"
cat >"$ROOT$UNIT" <<EOF
[Unit]
Description=Upmetr infra agent (reports to $SERVER_URL)
Documentation=$SERVER_URL/docs
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
User=$SERVICE_USER
Group=$SERVICE_USER
ExecStart=$PREFIX/bin/upmetr-agent --config $CONFIG run
Restart=on-failure
RestartSec=10
StateDirectory=upmetr-agent
StateDirectoryMode=0700
UMask=0077
MemoryMax=64M
CPUQuota=10%
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictSUIDSGID=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
LockPersonality=yes
MemoryDenyWriteExecute=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
SystemCallErrorNumber=EPERM
CapabilityBoundingSet=
AmbientCapabilities=

[Install]
WantedBy=multi-user.target
EOF
chmod 0644 "$ROOT$UNIT"
say "wrote $UNIT"

systemctl daemon-reload
# A rerun (a new token, a new version) restarts a running agent; a first run starts it.
systemctl try-restart upmetr-agent
systemctl enable --now upmetr-agent
say "service upmetr-agent enabled and started"

# 5. One post as the service's user, with its settings: proof that the server answers.
if command -v runuser >/dev/null 2>&1; then
    as_service() { runuser -u "$SERVICE_USER" -- "$@"; }
else
    # shellcheck disable=SC2016 # expanded by the service user's shell, not this one
    as_service() { su -s /bin/sh "$SERVICE_USER" -c '"$0" "$@"' -- "$@"; }
fi
if as_service "$ROOT$PREFIX/bin/upmetr-agent" --config "$ROOT$CONFIG" once; then
    say "the server accepted a first batch: agent $AGENT_ID is reporting"
else
    say "the service is installed, but the server did not accept a first batch (above)."
    say "Check with: journalctl -u upmetr-agent -f"
    exit 2
fi

# Sourced by install-tools.sh and localstack.sh (with ROOT set): where the tools live.
#
# Once per machine, shared by every clone: a clone's .local/tools is a link to
# $CHAT_TOOLS_HOME/tools (default ~/.cache/chat-backend), and downloads are cached in
# $CHAT_TOOLS_HOME/cache, so a clean clone (CI) installs nothing that this machine already has.
# A clone whose .local/tools is a directory of its own keeps using it. Paths are resolved, so the
# virtual environments' scripts never name a clone that may be deleted.
CHAT_TOOLS_HOME="${CHAT_TOOLS_HOME:-${XDG_CACHE_HOME:-$HOME/.cache}/chat-backend}"
if [ ! -e "$ROOT/.local/tools" ]; then
  mkdir -p "$CHAT_TOOLS_HOME/tools" "$ROOT/.local"
  ln -sfn "$CHAT_TOOLS_HOME/tools" "$ROOT/.local/tools"
fi
TOOLS="$(cd "$ROOT/.local/tools" && pwd -P)"
CACHE="$CHAT_TOOLS_HOME/cache"
mkdir -p "$CACHE"

# One installer at a time on the machine (two clones may run make test at once).
tools_lock() {
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$CACHE/.install.lock"
    flock 9
  fi
}

# Sourced by setup.sh. Desktop machines run unattended upgrades: wait for another apt/dpkg to finish instead of
# failing on its lock (exit 100, "Could not get lock /var/lib/dpkg/lock-frontend").
# HYPERUNMIX_APT_WAIT_LIMIT: seconds to wait at most (default 1800).
wait_for_apt() {
  local waited=0 limit=${HYPERUNMIX_APT_WAIT_LIMIT:-1800}
  while pgrep -x 'apt-get|apt|dpkg|unattended-upgr|aptitude' >/dev/null 2>&1; do
    [ $waited -eq 0 ] && echo "Waiting for another package manager (apt/dpkg/unattended-upgrades) to finish..."
    [ $waited -ge "$limit" ] && { echo "setup.sh: apt/dpkg has been busy for $limit s; try again when it is done" >&2; return 1; }
    sleep 1
    waited=$((waited + 1))
  done
}

#!/bin/sh
# The MySQL image contract on Debian's MariaDB: on an empty data folder it initialises the
# server, sets MYSQL_ROOT_PASSWORD, creates MYSQL_DATABASE and MYSQL_USER (with MYSQL_PASSWORD,
# all privileges on that database) and runs /docker-entrypoint-initdb.d/*.sh and *.sql with the
# official image's docker_process_sql helper; then it runs the server in the foreground on 3306.
# It runs as whatever non-root user the pod gives it: nothing here needs root.
set -eu
datadir=${MYSQL_DATADIR:-/var/lib/mysql}
initdir=/docker-entrypoint-initdb.d
socket=/tmp/mysqld-init.sock

docker_process_sql() {
  mariadb --protocol=socket --socket="$socket" -uroot ${MYSQL_ROOT_PASSWORD:+-p"$MYSQL_ROOT_PASSWORD"} "$@"
}

if [ ! -d "$datadir/mysql" ]; then
  if [ -z "${MYSQL_ROOT_PASSWORD:-}" ]; then
    echo "mariadb: MYSQL_ROOT_PASSWORD is not set: the data folder is empty and cannot be initialised without it" >&2
    exit 1
  fi
  echo "mariadb: initialising $datadir"
  mariadb-install-db --datadir="$datadir" --auth-root-authentication-method=normal \
    --skip-test-db --skip-name-resolve >/tmp/install-db.log 2>&1 ||
    { cat /tmp/install-db.log >&2; exit 1; }
  mariadbd --datadir="$datadir" --skip-networking --socket="$socket" &
  pid=$!
  i=0
  until mariadb --protocol=socket --socket="$socket" -uroot -e 'SELECT 1' >/dev/null 2>&1; do
    i=$((i + 1))
    if [ "$i" -gt 300 ] || ! kill -0 "$pid" 2>/dev/null; then
      echo "mariadb: the server did not start for initialisation" >&2
      exit 1
    fi
    sleep 0.1
  done
  {
    echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '$MYSQL_ROOT_PASSWORD';"
    echo "CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY '$MYSQL_ROOT_PASSWORD';"
    echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
    if [ -n "${MYSQL_DATABASE:-}" ]; then
      echo "CREATE DATABASE IF NOT EXISTS \`$MYSQL_DATABASE\`;"
    fi
    if [ -n "${MYSQL_USER:-}" ] && [ -n "${MYSQL_PASSWORD:-}" ]; then
      echo "CREATE USER '$MYSQL_USER'@'%' IDENTIFIED BY '$MYSQL_PASSWORD';"
      if [ -n "${MYSQL_DATABASE:-}" ]; then
        echo "GRANT ALL ON \`$MYSQL_DATABASE\`.* TO '$MYSQL_USER'@'%';"
      fi
    fi
    echo "FLUSH PRIVILEGES;"
  } | mariadb --protocol=socket --socket="$socket" -uroot
  for f in "$initdir"/*; do
    case "$f" in
      *.sh) echo "mariadb: running $f"; . "$f" ;;
      *.sql) echo "mariadb: running $f"; docker_process_sql ${MYSQL_DATABASE:+--database="$MYSQL_DATABASE"} <"$f" ;;
    esac
  done
  kill "$pid"
  wait "$pid" || true
  echo "mariadb: initialised"
fi
exec mariadbd --datadir="$datadir" --bind-address=0.0.0.0 --port=3306 --socket=/tmp/mysqld.sock \
  --skip-name-resolve "$@"

// Command console is the example api service. `console serve` answers HTTP on :8080 (PORT); the
// other commands are the application's console commands that the stack's workers, CronJobs and
// release Jobs run. Each does real work against the stack's MySQL and Redis, so a running stack
// shows that its wiring (env, Secrets, ordering, DNS) reached the process:
//
//	doctrine:migrations:migrate  creates the tables and records the schema version
//	app:load-demo-data           inserts demo rows
//	cache:warmup                 writes the cache:warm key in Redis
//	messenger:consume <queue>    takes items from the Redis list queue:<queue> (POST /queue/<queue>
//	                             puts them there) into the consumed table
//	app:<anything else>          records a run (command, APP_ENV, time) in the runs table and Redis
//
// Connection settings come from the environment the stack gives every container: DB_HOST,
// DB_PORT, DB_NAME, DB_USER, DB_PASSWORD and REDIS_URL.
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/gomodule/redigo/redis"
)

// schemaVersion is what doctrine:migrations:migrate brings the database to.
const schemaVersion = 2

var migrations = []string{
	`CREATE TABLE IF NOT EXISTS schema_version (version INT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS items (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS runs (id INT AUTO_INCREMENT PRIMARY KEY, command VARCHAR(100) NOT NULL, app_env VARCHAR(50) NOT NULL, at TIMESTAMP DEFAULT CURRENT_TIMESTAMP)`,
	`CREATE TABLE IF NOT EXISTS consumed (id INT AUTO_INCREMENT PRIMARY KEY, queue VARCHAR(100) NOT NULL, item VARCHAR(255) NOT NULL)`,
}

func main() {
	cmd := "serve"
	if len(os.Args) > 1 {
		cmd = os.Args[1]
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, cmd, os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", cmd, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cmd string, args []string) error {
	switch cmd {
	case "serve":
		return serve(ctx)
	case "doctrine:migrations:migrate":
		return migrate(ctx)
	case "app:load-demo-data":
		return loadDemoData(ctx)
	case "cache:warmup":
		return cacheWarmup(ctx)
	case "messenger:consume":
		queue := "async"
		if len(args) > 0 {
			queue = args[0]
		}
		return consume(ctx, queue)
	}
	if strings.HasPrefix(cmd, "app:") {
		return recordRun(ctx, cmd)
	}
	return fmt.Errorf("unknown command %q: want serve, doctrine:migrations:migrate, app:load-demo-data, cache:warmup, messenger:consume or app:<name>", cmd)
}

func openDB() (*sql.DB, error) {
	cfg := mysql.NewConfig()
	cfg.User = os.Getenv("DB_USER")
	cfg.Passwd = os.Getenv("DB_PASSWORD")
	cfg.Net = "tcp"
	cfg.Addr = net.JoinHostPort(os.Getenv("DB_HOST"), envOr("DB_PORT", "3306"))
	cfg.DBName = os.Getenv("DB_NAME")
	cfg.Timeout = 3 * time.Second
	if cfg.User == "" || os.Getenv("DB_HOST") == "" || cfg.DBName == "" {
		return nil, errors.New("DB_HOST, DB_NAME and DB_USER must be set")
	}
	return sql.Open("mysql", cfg.FormatDSN())
}

func dialRedis() (redis.Conn, error) {
	raw := os.Getenv("REDIS_URL")
	if raw == "" {
		return nil, errors.New("REDIS_URL must be set")
	}
	if _, err := url.Parse(raw); err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	return redis.DialURL(raw, redis.DialConnectTimeout(3*time.Second))
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func migrate(ctx context.Context) error {
	db, err := openDB()
	if err != nil {
		return err
	}
	defer db.Close()
	for _, m := range migrations {
		if _, err := db.ExecContext(ctx, m); err != nil {
			return fmt.Errorf("migration %q: %w", m, err)
		}
	}
	if _, err := db.ExecContext(ctx, `DELETE FROM schema_version`); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (?)`, schemaVersion); err != nil {
		return err
	}
	fmt.Printf("migrated to version %d\n", schemaVersion)
	return nil
}

func loadDemoData(ctx context.Context) error {
	db, err := openDB()
	if err != nil {
		return err
	}
	defer db.Close()
	for _, name := range []string{"apple", "banana", "cherry"} {
		if _, err := db.ExecContext(ctx, `INSERT INTO items (name) VALUES (?)`, name); err != nil {
			return err
		}
	}
	fmt.Println("loaded 3 demo items")
	return nil
}

func cacheWarmup(context.Context) error {
	c, err := dialRedis()
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Do("SET", "cache:warm", time.Now().UTC().Format(time.RFC3339)); err != nil {
		return err
	}
	fmt.Println("cache warmed")
	return nil
}

// recordRun is what the CronJobs' commands do: a row a test (or a person) can read back, with
// the env the CronJob inherited from its service.
func recordRun(ctx context.Context, cmd string) error {
	db, err := openDB()
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `INSERT INTO runs (command, app_env) VALUES (?, ?)`, cmd, os.Getenv("APP_ENV")); err != nil {
		return err
	}
	c, err := dialRedis()
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Do("SET", "run:"+cmd, os.Getenv("APP_ENV")); err != nil {
		return err
	}
	fmt.Printf("%s done (APP_ENV=%s)\n", cmd, os.Getenv("APP_ENV"))
	return nil
}

// consume moves items from the Redis list queue:<queue> into the consumed table until stopped.
func consume(ctx context.Context, queue string) error {
	db, err := openDB()
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Printf("consuming queue:%s until stopped\n", queue)
	for ctx.Err() == nil {
		c, err := dialRedis()
		if err != nil {
			fmt.Fprintln(os.Stderr, "redis:", err)
			sleep(ctx, time.Second)
			continue
		}
		for ctx.Err() == nil {
			reply, err := redis.Strings(c.Do("BLPOP", "queue:"+queue, 1))
			if errors.Is(err, redis.ErrNil) {
				continue
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "redis:", err)
				break
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO consumed (queue, item) VALUES (?, ?)`, queue, reply[1]); err != nil {
				fmt.Fprintln(os.Stderr, "mysql:", err)
			}
		}
		c.Close()
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// status is what `/` answers: the env keys the process received (names only: values may be
// secret) and what the database holds.
type status struct {
	Service          string   `json:"service"`
	AppEnv           string   `json:"appEnv"`
	EnvKeys          []string `json:"envKeys"`
	MigrationVersion int      `json:"migrationVersion"`
	Items            int      `json:"items"`
	// Runs counts the recorded runs per command (the CronJobs' app:* commands).
	Runs map[string]int `json:"runs"`
	// Consumed counts the items messenger:consume took from its queues.
	Consumed int    `json:"consumed"`
	Hostname string `json:"hostname"`
}

func currentStatus(ctx context.Context, db *sql.DB) (status, error) {
	st := status{Service: "api", AppEnv: os.Getenv("APP_ENV")}
	st.Hostname, _ = os.Hostname()
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		st.EnvKeys = append(st.EnvKeys, k)
	}
	sort.Strings(st.EnvKeys)
	if err := db.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&st.MigrationVersion); err != nil {
		return st, fmt.Errorf("reading the schema version (has doctrine:migrations:migrate run?): %w", err)
	}
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM items`).Scan(&st.Items); err != nil {
		return st, err
	}
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM consumed`).Scan(&st.Consumed); err != nil {
		return st, err
	}
	rows, err := db.QueryContext(ctx, `SELECT command, COUNT(*) FROM runs GROUP BY command`)
	if err != nil {
		return st, err
	}
	defer rows.Close()
	st.Runs = map[string]int{}
	for rows.Next() {
		var cmd string
		var n int
		if err := rows.Scan(&cmd, &n); err != nil {
			return st, err
		}
		st.Runs[cmd] = n
	}
	return st, rows.Err()
}

func serve(ctx context.Context) error {
	db, err := openDB()
	if err != nil {
		return err
	}
	defer db.Close()
	mux := http.NewServeMux()
	// Ready only when both backing services answer: the edge sends nothing to a pod that would
	// fail every request.
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		qctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := db.PingContext(qctx); err != nil {
			http.Error(w, "mysql: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		c, err := dialRedis()
		if err == nil {
			_, err = c.Do("PING")
			c.Close()
		}
		if err != nil {
			http.Error(w, "redis: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	// An API call that hands work to the queue consumers (messenger:consume <name>).
	mux.HandleFunc("POST /queue/{name}", func(w http.ResponseWriter, r *http.Request) {
		item, err := io.ReadAll(io.LimitReader(r.Body, 255))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c, err := dialRedis()
		if err == nil {
			_, err = c.Do("RPUSH", "queue:"+r.PathValue("name"), string(item))
			c.Close()
		}
		if err != nil {
			http.Error(w, "redis: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		st, err := currentStatus(r.Context(), db)
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
			return
		}
		_ = json.NewEncoder(w).Encode(st)
	})
	srv := &http.Server{Addr: ":" + envOr("PORT", "8080"), Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

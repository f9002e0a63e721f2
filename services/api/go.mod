module example.com/shoestring/services/api

go 1.26

require (
	github.com/go-sql-driver/mysql v1.10.2
	github.com/gomodule/redigo v1.9.3
)

require filippo.io/edwards25519 v1.2.0 // indirect

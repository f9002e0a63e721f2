module example.com/shoestring/services/api

go 1.26

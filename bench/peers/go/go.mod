module podgate.example/bench/peers/go

go 1.22

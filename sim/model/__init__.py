"""The model: who leaves (population, departures), where they may go (policies, routes),
how the crossings serve them (queueing, crossings), and the simpy engine that drives it."""

"""The engine: a Session runs the loop; budget, plateau, prices; views of runs and providers."""

//! Text normalisation

//! Charts as inline SVG, for the site's pages and the parity report alike: plotters draws
//! them through the one backend in [`svg`], which escapes text and maps colours.

pub mod svg;

//! The decisional balance grid: what is good and not so good about changing and about
//! staying the same, in the client's words.
//!
//! Miller & Rose (2009, 2015) caution that decisional balance is a tool for staying neutral,
//! not for tipping the scales: so entries are not scored or weighed here, and the only
//! helper reports which quadrants are still empty (an invitation, not a verdict).

use super::text::ClientWords;
use crate::values::ValueError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// One quadrant of the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quadrant {
    GoodAboutChanging,
    NotSoGoodAboutChanging,
    GoodAboutStayingTheSame,
    NotSoGoodAboutStayingTheSame,
}

impl Quadrant {
    pub const ALL: [Quadrant; 4] = [
        Quadrant::GoodAboutChanging,
        Quadrant::NotSoGoodAboutChanging,
        Quadrant::GoodAboutStayingTheSame,
        Quadrant::NotSoGoodAboutStayingTheSame,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Quadrant::GoodAboutChanging => "good_about_changing",
            Quadrant::NotSoGoodAboutChanging => "not_so_good_about_changing",
            Quadrant::GoodAboutStayingTheSame => "good_about_staying_the_same",
            Quadrant::NotSoGoodAboutStayingTheSame => "not_so_good_about_staying_the_same",
        }
    }

    /// The heading shown over the quadrant.
    pub fn label(self) -> &'static str {
        match self {
            Quadrant::GoodAboutChanging => "What is good about changing",
            Quadrant::NotSoGoodAboutChanging => "What is not so good about changing",
            Quadrant::GoodAboutStayingTheSame => "What is good about staying the same",
            Quadrant::NotSoGoodAboutStayingTheSame => "What is not so good about staying the same",
        }
    }

    /// An open question inviting the client to fill an empty quadrant.
    pub fn prompt(self) -> &'static str {
        match self {
            Quadrant::GoodAboutChanging => "What might be good for you about making this change?",
            Quadrant::NotSoGoodAboutChanging => "What might be hard or not so good about making this change?",
            Quadrant::GoodAboutStayingTheSame => "What works for you about keeping things as they are?",
            Quadrant::NotSoGoodAboutStayingTheSame => "What concerns you about keeping things as they are?",
        }
    }
}

impl std::str::FromStr for Quadrant {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quadrant::ALL.into_iter().find(|q| q.as_str() == s).ok_or_else(|| {
            ValueError::Invalid(
                "quadrant must be good_about_changing, not_so_good_about_changing, good_about_staying_the_same or not_so_good_about_staying_the_same"
                    .to_owned(),
            )
        })
    }
}

impl fmt::Display for Quadrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The grid: four lists of the client's own words. No scores, no totals.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionalBalance {
    good_about_changing: Vec<ClientWords>,
    not_so_good_about_changing: Vec<ClientWords>,
    good_about_staying_the_same: Vec<ClientWords>,
    not_so_good_about_staying_the_same: Vec<ClientWords>,
}

impl DecisionalBalance {
    /// Most entries one quadrant may hold.
    pub const MAX_ENTRIES: usize = 30;

    pub fn new() -> Self {
        Self::default()
    }

    fn list(&self, q: Quadrant) -> &Vec<ClientWords> {
        match q {
            Quadrant::GoodAboutChanging => &self.good_about_changing,
            Quadrant::NotSoGoodAboutChanging => &self.not_so_good_about_changing,
            Quadrant::GoodAboutStayingTheSame => &self.good_about_staying_the_same,
            Quadrant::NotSoGoodAboutStayingTheSame => &self.not_so_good_about_staying_the_same,
        }
    }

    fn list_mut(&mut self, q: Quadrant) -> &mut Vec<ClientWords> {
        match q {
            Quadrant::GoodAboutChanging => &mut self.good_about_changing,
            Quadrant::NotSoGoodAboutChanging => &mut self.not_so_good_about_changing,
            Quadrant::GoodAboutStayingTheSame => &mut self.good_about_staying_the_same,
            Quadrant::NotSoGoodAboutStayingTheSame => &mut self.not_so_good_about_staying_the_same,
        }
    }

    /// The entries of one quadrant, in the order the client gave them.
    pub fn entries(&self, q: Quadrant) -> &[ClientWords] {
        self.list(q)
    }

    pub fn add(&mut self, q: Quadrant, words: ClientWords) -> Result<(), ValueError> {
        let list = self.list_mut(q);
        if list.len() >= Self::MAX_ENTRIES {
            return Err(ValueError::Invalid(format!("{} may hold at most {} entries", q.label(), Self::MAX_ENTRIES)));
        }
        list.push(words);
        Ok(())
    }

    /// Removes an entry by its 0-based position; `None` when there is no such entry.
    pub fn remove(&mut self, q: Quadrant, index: usize) -> Option<ClientWords> {
        let list = self.list_mut(q);
        (index < list.len()).then(|| list.remove(index))
    }

    /// The quadrants with nothing in them yet, in grid order.
    pub fn empty_quadrants(&self) -> Vec<Quadrant> {
        Quadrant::ALL.into_iter().filter(|q| self.list(*q).is_empty()).collect()
    }

    pub fn is_empty(&self) -> bool {
        Quadrant::ALL.into_iter().all(|q| self.list(q).is_empty())
    }
}

//! The rules of snake on a grid, without Bevy's renderer: movement, growth,
//! collisions, food placement and the attract-mode autopilot.

use std::collections::VecDeque;

use bevy::math::IVec2;
use demo_common::Rng;

/// Columns of the board.
pub const WIDTH: i32 = 24;
/// Rows of the board.
pub const HEIGHT: i32 = 13;
/// Golden food on the board at most (one per gift).
const MAX_GOLDEN: usize = 3;
/// Points and growth of plain and golden food.
const PLAIN: (u32, u32) = (1, 1);
const GOLDEN: (u32, u32) = (5, 3);

/// A direction of travel (y grows upwards).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Towards the top row.
    Up,
    /// Towards the bottom row.
    Down,
    /// Towards the first column.
    Left,
    /// Towards the last column.
    Right,
}

impl Dir {
    /// Every direction.
    pub const ALL: [Dir; 4] = [Dir::Up, Dir::Down, Dir::Left, Dir::Right];

    /// One cell in this direction.
    pub fn delta(self) -> IVec2 {
        match self {
            Dir::Up => IVec2::Y,
            Dir::Down => IVec2::NEG_Y,
            Dir::Left => IVec2::NEG_X,
            Dir::Right => IVec2::X,
        }
    }

    /// The way back.
    pub fn opposite(self) -> Dir {
        match self {
            Dir::Up => Dir::Down,
            Dir::Down => Dir::Up,
            Dir::Left => Dir::Right,
            Dir::Right => Dir::Left,
        }
    }
}

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The snake moved.
    Moved,
    /// The snake ate food (golden: from a gift).
    Ate {
        /// Whether it was golden food.
        golden: bool,
    },
    /// The snake hit a wall or itself: game over.
    Crashed,
}

/// A game of snake.
#[derive(Debug, Clone)]
pub struct Board {
    /// Cells of the snake, head first.
    pub snake: VecDeque<IVec2>,
    /// Direction of the last step.
    heading: Dir,
    /// Direction of the next step.
    next: Dir,
    /// Steps during which the tail stays put.
    growth: u32,
    /// The plain food, if a free cell was left for it.
    pub food: Option<IVec2>,
    /// Golden food dropped by gifts.
    pub golden: Vec<IVec2>,
    /// Points so far.
    pub score: u32,
}

/// Whether a cell is on the board.
pub fn inside(cell: IVec2) -> bool {
    (0..WIDTH).contains(&cell.x) && (0..HEIGHT).contains(&cell.y)
}

impl Board {
    /// A snake of three cells in the middle, heading right, and one food.
    pub fn new(rng: &mut Rng) -> Self {
        let head = IVec2::new(WIDTH / 2, HEIGHT / 2);
        let mut board = Self {
            snake: (0..3).map(|i| head - IVec2::new(i, 0)).collect(),
            heading: Dir::Right,
            next: Dir::Right,
            growth: 0,
            food: None,
            golden: Vec::new(),
            score: 0,
        };
        board.food = board.free_cell(rng);
        board
    }

    /// The head's cell.
    pub fn head(&self) -> IVec2 {
        self.snake[0]
    }

    /// Asks to turn before the next step; turning back is ignored.
    pub fn turn(&mut self, dir: Dir) {
        if dir != self.heading.opposite() {
            self.next = dir;
        }
    }

    /// Whether no part of the snake or any food is on `cell`.
    fn is_free(&self, cell: IVec2) -> bool {
        !self.snake.contains(&cell) && self.food != Some(cell) && !self.golden.contains(&cell)
    }

    /// A random free cell, if any is left.
    fn free_cell(&self, rng: &mut Rng) -> Option<IVec2> {
        let free: Vec<IVec2> = (0..HEIGHT)
            .flat_map(|y| (0..WIDTH).map(move |x| IVec2::new(x, y)))
            .filter(|&cell| self.is_free(cell))
            .collect();
        (!free.is_empty()).then(|| free[rng.below(free.len())])
    }

    /// Drops golden food on a free cell (a gift); false when the board already holds the most.
    pub fn add_golden(&mut self, rng: &mut Rng) -> bool {
        if self.golden.len() >= MAX_GOLDEN {
            return false;
        }
        match self.free_cell(rng) {
            Some(cell) => {
                self.golden.push(cell);
                true
            }
            None => false,
        }
    }

    /// Whether the snake's body blocks `cell` on the next step (the tail
    /// moves away unless the snake is growing).
    fn blocked(&self, cell: IVec2) -> bool {
        let len = self.snake.len() - usize::from(self.growth == 0);
        !inside(cell) || self.snake.iter().take(len).any(|&c| c == cell)
    }

    /// Moves the snake one cell.
    pub fn step(&mut self, rng: &mut Rng) -> Step {
        let head = self.head() + self.next.delta();
        if self.blocked(head) {
            return Step::Crashed;
        }
        self.heading = self.next;
        self.snake.push_front(head);
        if self.growth > 0 {
            self.growth -= 1;
        } else {
            self.snake.pop_back();
        }
        let golden = if self.food == Some(head) {
            self.food = None;
            false
        } else if let Some(i) = self.golden.iter().position(|&g| g == head) {
            self.golden.swap_remove(i);
            true
        } else {
            return Step::Moved;
        };
        let (points, growth) = if golden { GOLDEN } else { PLAIN };
        self.score += points;
        self.growth += growth;
        if self.food.is_none() {
            self.food = self.free_cell(rng);
        }
        Step::Ate { golden }
    }

    /// Cells reachable from `start` without crossing the snake, counting up to `cap`.
    fn room(&self, start: IVec2, cap: usize) -> usize {
        let mut seen = vec![false; (WIDTH * HEIGHT) as usize];
        let index = |c: IVec2| (c.y * WIDTH + c.x) as usize;
        let body: Vec<IVec2> = self
            .snake
            .iter()
            .take(self.snake.len() - 1)
            .copied()
            .collect();
        let mut todo = vec![start];
        seen[index(start)] = true;
        let mut count = 0;
        while let Some(cell) = todo.pop() {
            count += 1;
            if count >= cap {
                break;
            }
            for dir in Dir::ALL {
                let next = cell + dir.delta();
                if inside(next) && !seen[index(next)] && !body.contains(&next) {
                    seen[index(next)] = true;
                    todo.push(next);
                }
            }
        }
        count
    }

    /// The autopilot's choice: towards the nearest food, never into a wall
    /// or the body, and never into a pocket too small for the snake.
    pub fn autopilot(&self) -> Dir {
        let head = self.head();
        let need = self.snake.len() + 2;
        let targets: Vec<IVec2> = self.food.iter().chain(&self.golden).copied().collect();
        let distance = |cell: IVec2| {
            targets
                .iter()
                .map(|t| (*t - cell).abs().element_sum())
                .min()
                .unwrap_or(0)
        };
        Dir::ALL
            .into_iter()
            .filter(|&d| d != self.heading.opposite())
            .map(|d| (d, head + d.delta()))
            .filter(|&(_, cell)| !self.blocked(cell))
            .max_by_key(|&(d, cell)| {
                let room = self.room(cell, need);
                // Enough room first, then closer food, then more room, then straight on.
                (room >= need, -distance(cell), room, d == self.heading)
            })
            .map_or(self.heading, |(d, _)| d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn board(cells: &[(i32, i32)], heading: Dir) -> Board {
        Board {
            snake: cells.iter().map(|&(x, y)| IVec2::new(x, y)).collect(),
            heading,
            next: heading,
            growth: 0,
            food: None,
            golden: Vec::new(),
            score: 0,
        }
    }

    #[test]
    fn moves_forward_keeping_its_length() {
        let mut rng = Rng::new(1);
        let mut b = board(&[(5, 5), (4, 5), (3, 5)], Dir::Right);
        assert_eq!(b.step(&mut rng), Step::Moved);
        assert_eq!(
            b.snake,
            [IVec2::new(6, 5), IVec2::new(5, 5), IVec2::new(4, 5)]
        );
        b.turn(Dir::Up);
        b.step(&mut rng);
        assert_eq!(b.head(), IVec2::new(6, 6));
    }

    #[test]
    fn turning_back_is_ignored() {
        let mut rng = Rng::new(1);
        let mut b = board(&[(5, 5), (4, 5), (3, 5)], Dir::Right);
        b.turn(Dir::Left);
        assert_eq!(b.step(&mut rng), Step::Moved);
        assert_eq!(b.head(), IVec2::new(6, 5));
    }

    #[test]
    fn eating_grows_and_scores() {
        let mut rng = Rng::new(1);
        let mut b = board(&[(5, 5), (4, 5), (3, 5)], Dir::Right);
        b.food = Some(IVec2::new(6, 5));
        assert_eq!(b.step(&mut rng), Step::Ate { golden: false });
        assert_eq!(b.score, 1);
        let food = b.food.expect("new food placed");
        assert!(!b.snake.contains(&food));
        b.food = None;
        b.step(&mut rng);
        assert_eq!(b.snake.len(), 4, "grows by one on the next step");

        b.golden.push(b.head() + IVec2::X);
        assert_eq!(b.step(&mut rng), Step::Ate { golden: true });
        assert_eq!(b.score, 6);
        for _ in 0..3 {
            b.step(&mut rng);
        }
        assert_eq!(b.snake.len(), 7, "golden food grows by three");
    }

    #[test]
    fn walls_and_body_are_fatal_but_the_leaving_tail_is_not() {
        let mut rng = Rng::new(1);
        let mut b = board(&[(WIDTH - 1, 0), (WIDTH - 2, 0)], Dir::Right);
        assert_eq!(b.step(&mut rng), Step::Crashed);

        // A square: head at (5,5), the tail right below it moves away.
        let mut b = board(&[(5, 5), (6, 5), (6, 4), (5, 4)], Dir::Left);
        b.turn(Dir::Down);
        assert_eq!(b.step(&mut rng), Step::Moved, "the tail's cell is free");

        let mut b = board(&[(5, 5), (6, 5), (6, 4), (5, 4), (4, 4)], Dir::Left);
        b.turn(Dir::Down);
        assert_eq!(b.step(&mut rng), Step::Crashed);

        let mut b = board(&[(5, 5), (6, 5), (6, 4), (5, 4)], Dir::Left);
        b.growth = 1;
        b.turn(Dir::Down);
        assert_eq!(b.step(&mut rng), Step::Crashed, "a growing tail stays");
    }

    #[test]
    fn food_lands_on_free_cells_only() {
        let mut rng = Rng::new(7);
        for _ in 0..200 {
            let mut b = Board::new(&mut rng);
            assert!(b.add_golden(&mut rng));
            let food = b.food.expect("food");
            assert!(inside(food) && !b.snake.contains(&food) && !b.golden.contains(&food));
            assert!(inside(b.golden[0]) && !b.snake.contains(&b.golden[0]));
        }
        let mut b = Board::new(&mut rng);
        for _ in 0..MAX_GOLDEN {
            assert!(b.add_golden(&mut rng));
        }
        assert!(!b.add_golden(&mut rng), "at most {MAX_GOLDEN} golden");
    }

    #[test]
    fn autopilot_avoids_walls_and_heads_for_food() {
        let b = board(&[(WIDTH - 1, 5), (WIDTH - 2, 5)], Dir::Right);
        assert_ne!(b.autopilot(), Dir::Right);

        let mut b = board(&[(5, 5), (4, 5), (3, 5)], Dir::Right);
        b.food = Some(IVec2::new(5, 10));
        assert_eq!(b.autopilot(), Dir::Up);
    }

    #[test]
    fn autopilot_plays_a_long_game() {
        let mut rng = Rng::new(3);
        let mut b = Board::new(&mut rng);
        let mut steps = 0;
        while steps < 600 {
            b.turn(b.autopilot());
            if b.step(&mut rng) == Step::Crashed {
                break;
            }
            steps += 1;
        }
        assert!(b.score >= 10, "score {} after {steps} steps", b.score);
    }
}

// A C++ program that leans on libstdc++: exceptions thrown and caught across
// frames (standard and custom types, rethrow, nested, std::exception_ptr),
// iostreams (formatting, string streams, locale-free parsing), threads (mutex,
// condition variable, futures, atomics) and regex (match, search, replace,
// iterators, a malformed pattern). Output is deterministic.
//
//   wp_cxx ROUNDS
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <future>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

struct custom_error : std::runtime_error {
    int code;
    custom_error(const std::string &what, int c) : std::runtime_error(what), code(c) {}
};

int thrower(int depth, int kind)
{
    if (depth > 0) return thrower(depth - 1, kind) + 1;
    switch (kind % 5) {
    case 0: throw std::out_of_range("out of range at the bottom");
    case 1: throw custom_error("custom", kind);
    case 2: throw 42;
    case 3: { std::vector<int> v(3); return v.at(7); }
    default: throw std::string("a string");
    }
}

void exceptions(int round)
{
    for (int kind = 0; kind < 5; kind++) {
        try {
            thrower(round % 4 + kind, kind);
        } catch (const custom_error &e) {
            std::cout << "  custom_error " << e.what() << " code " << e.code << '\n';
        } catch (const std::exception &e) {
            std::cout << "  std::exception " << e.what() << '\n';
        } catch (int i) {
            std::cout << "  int " << i << '\n';
        } catch (...) {
            std::cout << "  something else\n";
        }
    }
    std::exception_ptr saved;
    try {
        try {
            throw std::logic_error("inner");
        } catch (...) {
            saved = std::current_exception();
            std::throw_with_nested(std::runtime_error("outer"));
        }
    } catch (const std::exception &e) {
        std::cout << "  nested: " << e.what();
        try {
            std::rethrow_if_nested(e);
        } catch (const std::exception &inner) {
            std::cout << " <- " << inner.what();
        }
        std::cout << '\n';
    }
    try {
        std::rethrow_exception(saved);
    } catch (const std::logic_error &e) {
        std::cout << "  rethrown " << e.what() << '\n';
    }
}

void streams(int round)
{
    std::ostringstream os;
    os << std::setw(8) << std::setfill('.') << round << '|' << std::hex << 255 * (round + 1)
       << std::dec << '|' << std::fixed << std::setprecision(3) << 3.14159 * round << '|'
       << std::scientific << 1.5e10 << '|' << std::boolalpha << (round % 2 == 0);
    std::cout << "  stream " << os.str() << '\n';
    std::istringstream is("17 2.5 word 0x1f tail");
    int i;
    double d;
    std::string w;
    int h;
    is >> i >> d >> w >> std::hex >> h;
    std::cout << "  parsed " << i << ' ' << d << ' ' << w << ' ' << std::dec << h << '\n';
    std::string line;
    std::istringstream lines("a\nbb\n\nccc");
    int count = 0;
    while (std::getline(lines, line)) count += (int)line.size();
    std::cout << "  getline total " << count << '\n';
    std::cerr << "stderr line " << round << std::endl;
}

void threads(int round)
{
    std::mutex m;
    std::condition_variable cv;
    int turn = 0;
    std::atomic<long> total{0};
    std::vector<std::thread> pool;
    for (int t = 0; t < 4; t++) {
        pool.emplace_back([&, t] {
            std::unique_lock<std::mutex> lock(m);
            cv.wait(lock, [&] { return turn == t; });
            long local = 0;
            for (int k = 0; k < 1000 * (t + 1); k++) local += k % (t + 2);
            total += local;
            turn++;
            cv.notify_all();
        });
    }
    for (auto &th : pool) th.join();
    auto f = std::async(std::launch::async, [round] {
        if (round % 3 == 2) throw std::runtime_error("from a future");
        return round * 7;
    });
    try {
        std::cout << "  future " << f.get() << '\n';
    } catch (const std::exception &e) {
        std::cout << "  future threw " << e.what() << '\n';
    }
    std::promise<std::string> p;
    std::thread producer([&p, round] { p.set_value("promised " + std::to_string(round)); });
    std::cout << "  " << p.get_future().get() << '\n';
    producer.join();
    std::cout << "  threads total " << total.load() << " turns " << turn << '\n';
}

void regexes(int round)
{
    std::string text = "alpha=1, beta=22, gamma=333; round=" + std::to_string(round);
    std::regex kv(R"((\w+)=(\d+))");
    std::map<std::string, int> found;
    for (std::sregex_iterator it(text.begin(), text.end(), kv), end; it != end; ++it)
        found[(*it)[1]] = std::stoi((*it)[2]);
    for (const auto &e : found) std::cout << "  " << e.first << " -> " << e.second << '\n';
    std::cout << "  replaced " << std::regex_replace(text, std::regex("[aeiou]"), "*") << '\n';
    std::smatch sm;
    bool full = std::regex_match(std::string("2026-12-04"), std::regex(R"(\d{4}-\d{2}-\d{2})"));
    bool part = std::regex_search(text, sm, std::regex("g(a+)mma", std::regex::icase));
    std::cout << "  match " << full << " search " << part << ' ' << sm.str(0) << '\n';
    try {
        std::regex bad("(unclosed[");
        std::cout << "  bad pattern accepted\n";
    } catch (const std::regex_error &e) {
        std::cout << "  regex_error code " << static_cast<int>(e.code()) << '\n';
    }
}

} // namespace

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? std::atoi(argv[1]) : 3;
    for (int r = 0; r < rounds; r++) {
        std::cout << "round " << r << '\n';
        exceptions(r);
        streams(r);
        threads(r);
        regexes(r);
    }
    auto owned = std::make_shared<std::string>("shared");
    std::weak_ptr<std::string> weak = owned;
    owned.reset();
    std::cout << "expired " << weak.expired() << std::endl;
    return 0;
}
